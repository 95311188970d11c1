DROP TABLE delivery_cursors;
DROP TABLE endpoint_dead_letters;
DROP TABLE endpoint_attempts;
DROP TABLE endpoints;
