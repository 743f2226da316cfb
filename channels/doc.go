// Package channels defines what every messaging channel adapter shares: the
// normalised inbound Event, the Outbound message the outbox delivers, the
// Channel interface and a registry of the channels that are switched on.
//
// It imports only the standard library, so that adapters (one package each
// under channels/) and the engine in package bot can both depend on it
// without depending on each other.
package channels
