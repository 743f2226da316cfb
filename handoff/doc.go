// Package handoff decides when a conversation needs a person and keeps the
// tickets that bring one: tier rules, the agent and supervisor queues, SLA
// deadlines and their escalation, claims, transfers, resolutions with a
// cause tag, customer satisfaction scores, relapses within the watch window
// after a resolution, and the weekly report of causes. It also holds the
// agent accounts, their sessions and API tokens, and the HTTP
// authentication of the console.
//
// The package decides and records; it sends nothing. bot turns its
// decisions into outbox messages in the same transaction.
package handoff
