DROP TABLE parked_messages;
