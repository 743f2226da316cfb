// Package knowledge owns carebot's FAQ knowledge base: the Entry type and
// its YAML schema, loading and validating knowledge base files with errors
// that point at file and line, and retrieval — BM25 indexes over every
// question and every entry, and a linear classifier trained on the
// questions when a Base is built, combined into a score in [0,1] so that
// one threshold (Options.MinScore) decides whether a customer's question
// is answered.
//
// What it must not do:
//   - segment or normalise text itself: tokens come from package segment,
//     so that knowledge base questions and customer messages are cut the
//     same way;
//   - decide what to say when nothing matches, keep conversation state or
//     import dialog, channels or bot: it answers "which entry, how sure";
//   - change a Base after NewBase returns: a Base is shared by every
//     conversation without locks, and a new knowledge base means a new Base;
//   - accept a knowledge base with any error: a bad file fails the load as a
//     whole, listing every problem, rather than serving half an FAQ.
package knowledge
