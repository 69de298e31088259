#include "engine/json_text.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "io/strings.h"

namespace logtally::engine {

// A string as JSON: a JSON string when the bytes are UTF-8, else an object
// {"hex": "..."} of their hex digits, so any bytes (a path, a condition on
// a binary value) come back exactly.
void AppendJsonValue(std::string& out, std::string_view s) {
  if (!simdjson::validate_utf8(s.data(), s.size())) {
    out.append("{\"hex\":\"");
    static constexpr char kDigits[] = "0123456789abcdef";
    for (unsigned char c : s) {
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
    out.append("\"}");
    return;
  }
  out.push_back('"');
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out.append(b);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

absl::StatusOr<std::string> JsonString(simdjson::dom::element e, std::string_view what) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  std::string_view hex;
  if (e.is_object() && e["hex"].get_string().get(hex) == simdjson::SUCCESS && hex.size() % 2 == 0) {
    std::string out;
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    for (size_t i = 0; i < hex.size(); i += 2) {
      int a = nibble(hex[i]), b = nibble(hex[i + 1]);
      if (a < 0 || b < 0) return absl::DataLossError(absl::StrCat("bad hex string in ", AV(what)));
      out.push_back(static_cast<char>(a * 16 + b));
    }
    return out;
  }
  return absl::DataLossError(absl::StrCat("'", AV(what), "' is not a string"));
}

absl::StatusOr<std::string> StringField(simdjson::dom::element obj, const char* name, std::string_view what) {
  simdjson::dom::element e;
  if (obj[name].get(e) != simdjson::SUCCESS) {
    return absl::DataLossError(absl::StrCat("its metadata lacks '", AV(what), "'"));
  }
  return JsonString(e, what);
}

}  // namespace logtally::engine
