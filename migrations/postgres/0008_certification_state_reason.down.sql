ALTER TABLE certifications
    DROP COLUMN answer,
    DROP COLUMN reason,
    DROP COLUMN state;
