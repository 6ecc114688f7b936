-- A movement recorded by mistake is undone by a reversal: a new movement that negates every
-- line of the original and names it. The unique index lets each movement be reversed once.
ALTER TABLE movements DROP CONSTRAINT movements_kind_check;
ALTER TABLE movements ADD CONSTRAINT movements_kind_check
    CHECK (kind IN ('receipt', 'write_off', 'transfer', 'inventory', 'shipment', 'return',
                    'correction', 'production', 'reversal'));
ALTER TABLE movements ADD COLUMN reverses_movement_id uuid REFERENCES movements (id);
CREATE UNIQUE INDEX movements_one_reversal ON movements (reverses_movement_id)
    WHERE reverses_movement_id IS NOT NULL;
ALTER TABLE movements ADD CONSTRAINT movements_reversal_names_its_original
    CHECK ((kind = 'reversal') = (reverses_movement_id IS NOT NULL));
