// Escaping for every output format: strings from a scenario or a node end up in
// a terminal, XML, HTML, JSON and Markdown, and none of them may break the
// document or repaint the terminal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fl::reports {

// Text for a terminal or a plain-text file (the output line, summary.txt): every
// character that could move the cursor, change colours or reorder what is shown
// becomes a visible escape: C0 controls (tab and newline included) and DEL as
// \xNN; C1 controls (U+0080..U+009F) and the Unicode bidirectional controls
// (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) as \uNNNN; bytes
// that are not UTF-8 as \xNN. Everything else, other UTF-8 included, is kept.
std::string escape_controls(std::string_view s);
// True when escape_controls would change nothing.
bool is_printable(std::string_view s);

// XML 1.0 text and attribute values: & < > " ' as entities; control characters
// that XML 1.0 forbids even as references (below 0x20 except tab, LF, CR) become '?'.
std::string xml_escape(std::string_view s);
// HTML: the five entities, and every control escape_controls names as a visible
// escape (a bidi override cannot reorder the page).
std::string html_escape(std::string_view s);
// Markdown text (a table cell, a paragraph): controls escaped as escape_controls
// does, line breaks as spaces, and the characters Markdown would act on escaped
// with a backslash (| \ ` < and & before a name or #), so that inline HTML
// cannot render and `->` stays `->` in a terminal: no HTML entities.
std::string md_cell(std::string_view s);
// Markdown inline code span that survives backticks inside (controls escaped).
std::string md_code(std::string_view s);
// 16 lowercase hex digits.
std::string hex64(std::uint64_t v);

}  // namespace fl::reports
