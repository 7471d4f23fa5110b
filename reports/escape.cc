#include "reports/escape.h"

#include <algorithm>

#include "base/assert.h"

namespace fl::reports {
namespace {

// One UTF-8 sequence at s[i]: its code point and length, or length 0 when the
// bytes there are not well-formed UTF-8 (overlong, surrogate, truncated, > U+10FFFF).
struct Decoded {
  char32_t cp = 0;
  std::size_t len = 0;
};
Decoded decode(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return {c, 1};
  std::size_t len = 0;
  char32_t cp = 0, min = 0;
  if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
  else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
  else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
  else return {};
  if (i + len > s.size()) return {};
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xc0) != 0x80) return {};
    cp = cp << 6 | (b(k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {};
  return {cp, len};
}

bool dangerous(char32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

constexpr char kHex[] = "0123456789abcdef";

void append_byte_escape(std::string& out, unsigned char c) {
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 0xf];
}

void append_cp_escape(std::string& out, char32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xf];
}

// Calls keep(i, len) for a sequence to keep as is, and appends the escape of
// anything dangerous or malformed to out.
template <class Keep>
void scan(std::string_view s, std::string& out, Keep&& keep) {
  for (std::size_t i = 0; i < s.size();) {
    const Decoded d = decode(s, i);
    if (d.len == 0) {
      append_byte_escape(out, static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    if (dangerous(d.cp)) {
      if (d.cp < 0x80) append_byte_escape(out, static_cast<unsigned char>(d.cp));
      else append_cp_escape(out, d.cp);
    } else {
      keep(i, d.len);
    }
    i += d.len;
  }
}

}  // namespace

std::string escape_controls(std::string_view s) {
  if (is_printable(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 16);
  scan(s, out, [&](std::size_t i, std::size_t len) { out.append(s.substr(i, len)); });
  return out;
}

bool is_printable(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const Decoded d = decode(s, i);
    if (d.len == 0 || dangerous(d.cp)) return false;
    i += d.len;
  }
  return true;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (const char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += '?';
        else out += c;
    }
  }
  FL_ASSERT(out.size() >= s.size());
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  scan(s, out, [&](std::size_t i, std::size_t len) {
    if (len > 1) {
      out.append(s.substr(i, len));
      return;
    }
    switch (s[i]) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += s[i];
    }
  });
  return out;
}

std::string md_cell(std::string_view s) {
  std::string flat(s);
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  std::replace(flat.begin(), flat.end(), '\r', ' ');
  const std::string text = escape_controls(flat);
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (c) {
      case '|': case '\\': case '`': case '<': out += '\\'; out += c; break;
      case '&': {
        // Only an entity reference would be rendered: "&lt;", "&#60;". A lone
        // '&' stays as it is.
        const char next = i + 1 < text.size() ? text[i + 1] : ' ';
        if (std::isalpha(static_cast<unsigned char>(next)) || next == '#') out += '\\';
        out += c;
        break;
      }
      default: out += c;
    }
  }
  return out;
}

std::string md_code(std::string_view s) {
  std::string body(s);
  std::replace(body.begin(), body.end(), '\n', ' ');
  std::replace(body.begin(), body.end(), '\r', ' ');
  body = escape_controls(body);
  // A code span is delimited by a run of backticks longer than any inside it.
  std::size_t longest = 0, run = 0;
  for (const char c : body) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(longest + 1, '`');
  const bool pad = !body.empty() && (body.front() == '`' || body.back() == '`');
  return fence + (pad ? " " : "") + body + (pad ? " " : "") + fence;
}

std::string hex64(std::uint64_t v) {
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[std::size_t(i)] = kHex[v & 0xf];
  return out;
}

}  // namespace fl::reports
