// Package config is the one place qyshook reads its settings: environment
// variables with the prefix QYSHOOK_, and the optional TOML file named by
// QYSHOOK_CONFIG that defines several tenants. The receiver, the dispatcher
// and the qyshook CLI all call Load; no other package reads the environment.
//
// Secrets (callback secrets, IVs, tokens, app secrets) are held as Secret
// values, which print and marshal as "[redacted]", and never appear in an
// error message.
package config
