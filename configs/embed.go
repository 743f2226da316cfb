package configs

import "embed"

// FS holds the embedded default files: carebot.yaml, replies.yaml,
// synonyms.yaml, kb/*.yaml and the emotion lexicons emotion/*.yaml.
//
//go:embed carebot.yaml replies.yaml synonyms.yaml rewards.yaml kb emotion
var FS embed.FS

// DefaultKnowledgeDir is the directory of the demo knowledge base in FS.
const DefaultKnowledgeDir = "kb"

// RepliesFile is the name of the bot's reply texts in FS.
const RepliesFile = "replies.yaml"

// SynonymsFile is the name of the default synonym list in FS.
const SynonymsFile = "synonyms.yaml"

// EmotionDir is the directory of the default emotion lexicons in FS.
const EmotionDir = "emotion"

// RewardsFile is the default rewards catalogue (权益) in FS.
const RewardsFile = "rewards.yaml"
