DROP TABLE IF EXISTS log_stamps;
DROP TABLE IF EXISTS log_checkpoints;
