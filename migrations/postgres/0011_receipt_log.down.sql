DROP TABLE log_pruned;
DROP TABLE log_head;
DROP TABLE log_hashes;
DROP TABLE log_leaves;
