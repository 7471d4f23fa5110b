// Escaping for every output format: strings from a scenario or a node end up in
// XML, HTML, JSON and Markdown, and none of them may break the document.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fl::reports {

// XML 1.0 text and attribute values: & < > " ' as entities; control characters
// that XML 1.0 forbids even as references (below 0x20 except tab, LF, CR) become '?'.
std::string xml_escape(std::string_view s);
// HTML is escaped as XML (the same five entities).
inline std::string html_escape(std::string_view s) { return xml_escape(s); }
// A Markdown table cell: pipes and backslashes escaped, line breaks as spaces,
// HTML-significant characters as entities (Markdown renders inline HTML).
std::string md_cell(std::string_view s);
// Markdown inline code span that survives backticks inside.
std::string md_code(std::string_view s);
// 16 lowercase hex digits.
std::string hex64(std::uint64_t v);

}  // namespace fl::reports
