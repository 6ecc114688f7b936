DROP INDEX customer_orders_shipment_waiting;
ALTER TABLE customer_orders
    DROP COLUMN shipment_waiting_reason,
    DROP COLUMN shipment_waiting_since;
ALTER TABLE keycrm_integrations
    DROP COLUMN ship_warehouse_id,
    DROP COLUMN ship_status_ids;
