ALTER TABLE certifications DROP COLUMN answer;
ALTER TABLE certifications DROP COLUMN reason;
ALTER TABLE certifications DROP COLUMN state;
