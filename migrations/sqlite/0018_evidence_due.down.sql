DROP TABLE evidence_due;
