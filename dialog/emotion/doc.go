// Package emotion scores the emotion of customer messages and keeps a
// conversation's running emotion, for the console (colour, cues) and for
// the handoff decision (tier, consecutive negatives, repeated questions).
//
// A Scorer matches a Lexicon — weighted words, degree words, negators,
// contrast words, sarcasm markers, emoji and the phrases that set a care
// tier (mild, moderate, severe) — against the normalised text with a
// longest-match scan, combines the matches clause by clause, and can blend
// in a small learned Model (naive Bayes over words and character n-grams).
// The lexicons are YAML files; carebot embeds its own and a user's files
// add or override entries.
//
// What it must not do:
//   - decide what happens next (apologise, open a ticket, silence the bot):
//     that is package handoff's job, fed by the Result and Conversation;
//   - store anything or read the clock: Conversation lives in the dialog
//     state and Observe takes the time from its caller;
//   - panic or take unbounded time on any input: Score caps the text it
//     reads and is safe for concurrent use;
//   - ship a third-party lexicon or a model trained on external data.
package emotion
