DROP TABLE evidence_bundles;
