-- The evidence queue (package bundler; docs/evidence.md): a contract whose
-- evidence bundle may be due. A row is written in the same transaction as
-- a contract leaf that leaves the contract confirmed in COMPLETE or a
-- terminal status, and removed when a bundle covering that leaf (or a
-- later one) is saved; EvidenceDue reads only these rows, not every
-- ended contract. A contract whose documents are still pending archive
-- stays queued until they settle.
--   leaf  the contract's latest leaf when it was queued
CREATE TABLE evidence_due (
    tenant      TEXT NOT NULL,
    contract_id TEXT NOT NULL,
    leaf        INTEGER NOT NULL,
    PRIMARY KEY (tenant, contract_id)
);
CREATE INDEX evidence_due_leaf ON evidence_due (leaf);

-- Contracts ended before this migration whose bundle is due: queued now.
INSERT INTO evidence_due (tenant, contract_id, leaf)
SELECT tenant, id, leaf FROM (
    SELECT c.tenant, c.id,
        (SELECT MAX(l.idx) FROM log_leaves l WHERE l.kind = 'contract' AND l.tenant = c.tenant AND l.ref = c.id) AS leaf,
        (SELECT MAX(b.contract_leaf) FROM evidence_bundles b WHERE b.tenant = c.tenant AND b.contract_id = c.id) AS last_leaf
    FROM contracts c
    WHERE c.confirmed = 1 AND c.status IN ('COMPLETE', 'REJECTED', 'RECALLED', 'EXPIRED', 'FAILED', 'FORCE_END', 'END',
        'DELETE', 'FINISHED', 'INVALIDED', 'TERMINATED')
) due WHERE leaf IS NOT NULL AND (last_leaf IS NULL OR leaf > last_leaf);
