DROP TABLE console_refusals;
