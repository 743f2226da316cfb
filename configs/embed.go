package configs

import "embed"

// FS holds the embedded default files: carebot.yaml and kb/*.yaml.
//
//go:embed carebot.yaml replies.yaml synonyms.yaml kb
var FS embed.FS

// DefaultKnowledgeDir is the directory of the demo knowledge base in FS.
const DefaultKnowledgeDir = "kb"

// RepliesFile is the name of the bot's reply texts in FS.
const RepliesFile = "replies.yaml"

// SynonymsFile is the name of the default synonym list in FS.
const SynonymsFile = "synonyms.yaml"
