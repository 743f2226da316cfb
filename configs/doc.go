// Package configs holds carebot's embedded defaults (carebot.yaml, the demo
// knowledge base) and turns configuration into a validated, typed Config.
//
// Precedence is: embedded carebot.yaml < a file given with --config <
// CAREBOT_* environment variables. Configuration is parsed and validated
// once at start; other packages receive typed values and never read raw
// YAML or the environment themselves.
package configs
