package config

// Secret is a value that must never be printed or logged. Its String,
// GoString and MarshalJSON methods redact it; Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalJSON redacts the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText redacts the secret (TOML and other text encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
