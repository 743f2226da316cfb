package configs

import "embed"

// FS holds the embedded default files: carebot.yaml and kb/*.yaml.
//
//go:embed carebot.yaml replies.yaml kb
var FS embed.FS

// DefaultKnowledgeDir is the directory of the demo knowledge base in FS.
const DefaultKnowledgeDir = "kb"

// RepliesFile is the name of the bot's reply texts in FS.
const RepliesFile = "replies.yaml"
