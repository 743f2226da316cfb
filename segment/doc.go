// Package segment owns Chinese word segmentation and text normalisation for
// carebot: finding the jieba dictionary files on the machine, loading the one
// shared jieba segmenter of the process, cutting text into search tokens, and
// the normalisation (Traditional→Simplified, full-width→half-width, case
// folding, whitespace) that makes a customer's text and the knowledge base
// meet on the same tokens. It also tells which script a text is written in.
//
// What it must not do:
//   - load jieba more than once per process outside of tests: loading costs
//     about 0.5 s and 130 MB, so production code goes through Shared;
//   - let a missing or malformed dictionary reach gojieba, which panics on a
//     missing file and aborts the whole process (C++ XCHECK) on a malformed
//     one; Open checks the files first and returns an error instead;
//   - call gojieba's AddWord/RemoveWord while a Cut runs (that crashes with
//     SIGSEGV); Segmenter serialises them with a read-write lock;
//   - ship or commit copies of the dictionary files: they come from the
//     gojieba module or from a directory the operator installs;
//   - know anything about FAQ entries, scoring or locales beyond detecting
//     the script of a text: that belongs to package knowledge.
package segment
