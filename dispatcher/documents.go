package dispatcher

import (
	"context"
	"fmt"
	"time"

	"github.com/qyshook/qyshook/events"
	"github.com/qyshook/qyshook/qys"
	"github.com/qyshook/qyshook/store"
)

// bundleSuffix names the row of a contract's signed bundle in documents.
const bundleSuffix = ".bundle"

// archiveDocuments streams every not-yet-archived document of a completed
// contract into the document store and records it with its fact. Memory
// stays flat: the body is copied through a hash into a file.
func (d *Dispatcher) archiveDocuments(ctx context.Context, tenant, contractID string, api API) error {
	c, err := d.cfg.Ledger.Contract(ctx, tenant, contractID)
	if err != nil {
		return wrapf(err, "load contract %s", contractID)
	}
	archived := map[string]bool{}
	for _, doc := range c.Documents {
		archived[doc.ID] = doc.SHA256 != ""
		if doc.SHA256 != "" || doc.ID == contractID+bundleSuffix {
			continue
		}
		err := d.archiveOne(ctx, tenant, doc, "pdf", func(ctx context.Context) (*qys.Download, error) {
			return api.DownloadDocument(ctx, doc.ID)
		})
		if err != nil {
			return err
		}
	}
	if d.cfg.ArchiveBundle && !archived[contractID+bundleSuffix] {
		bundle := store.Document{ID: contractID + bundleSuffix, ContractID: contractID, Title: "signed bundle (contract and sign log)"}
		return d.archiveOne(ctx, tenant, bundle, "zip", func(ctx context.Context) (*qys.Download, error) {
			return api.DownloadContract(ctx, qys.ContractQuery{ContractID: contractID}, "CONTRACT", "SIGNLOG")
		})
	}
	return nil
}

func (d *Dispatcher) archiveOne(ctx context.Context, tenant string, doc store.Document, ext string,
	open func(context.Context) (*qys.Download, error)) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.DownloadTimeout)
	defer cancel()
	start := time.Now()
	dl, err := open(ctx)
	if err != nil {
		return wrapf(err, "download document %s", doc.ID)
	}
	defer dl.Body.Close()
	rel, sum, size, err := d.cfg.Docs.Put(ctx, tenant, doc.ContractID, doc.ID, ext, dl.Body)
	d.metrics.apiSeconds.WithLabelValues("download").Observe(time.Since(start).Seconds())
	if err != nil {
		return wrapf(err, "store document %s", doc.ID)
	}
	if dl.Size >= 0 && size != dl.Size {
		return fmt.Errorf("document %s: got %d bytes, want %d: %w", doc.ID, size, dl.Size, qys.ErrTruncated)
	}
	now := time.Now().UTC()
	doc.SHA256, doc.Size, doc.Path, doc.FetchedAt = sum, size, rel, &now
	fact := events.Fact{
		Schema: events.SchemaLedgerV1, ID: factID("document", tenant, doc.ID, sum), Tenant: tenant,
		Kind: events.FactDocumentsArchived, ContractID: doc.ContractID, Confirmed: true, OccurredAt: now,
		Documents: []events.FactDocument{{ID: doc.ID, Title: doc.Title, SHA256: sum, Size: size, Path: rel}},
	}
	facts := []store.Fact{d.encodeFact(d.cfg.Names.LedgerDocumentsSubject(tenant), fact)}
	changed, err := d.cfg.Ledger.ArchiveDocument(ctx, tenant, doc, facts)
	if err != nil {
		return wrapf(err, "record document %s", doc.ID)
	}
	if changed {
		d.metrics.documents.Inc()
		d.metrics.documentBytes.Add(float64(size))
		d.log.Info().Str("contract_id", doc.ContractID).Str("document_id", doc.ID).Int64("size", size).Msg("document archived")
	}
	return nil
}
