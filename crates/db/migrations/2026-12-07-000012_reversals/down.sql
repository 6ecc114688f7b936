-- Reversals go, and the balances they changed lose their changes, so each balance still
-- equals its ledger.
UPDATE balances b SET quantity = b.quantity - r.delta
  FROM (SELECT l.warehouse_id, l.product_id, sum(l.quantity_delta) AS delta
          FROM movement_lines l JOIN movements m ON m.id = l.movement_id
         WHERE m.kind = 'reversal' GROUP BY l.warehouse_id, l.product_id) r
 WHERE b.warehouse_id = r.warehouse_id AND b.product_id = r.product_id;
DELETE FROM movement_lines WHERE movement_id IN (SELECT id FROM movements WHERE kind = 'reversal');
DELETE FROM movements WHERE kind = 'reversal';
ALTER TABLE movements DROP CONSTRAINT movements_reversal_names_its_original;
DROP INDEX movements_one_reversal;
ALTER TABLE movements DROP COLUMN reverses_movement_id;
ALTER TABLE movements DROP CONSTRAINT movements_kind_check;
ALTER TABLE movements ADD CONSTRAINT movements_kind_check
    CHECK (kind IN ('receipt', 'write_off', 'transfer', 'inventory', 'shipment', 'return',
                    'correction', 'production'));
