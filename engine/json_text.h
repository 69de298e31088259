// The JSON text of the files logtally keeps (tallies' metadata, count
// --state's state): strings that may hold any bytes, written and read back
// exactly. A string of UTF-8 is a JSON string; any other bytes are written
// as an object {"hex": "..."} of their hex digits (docs/tally-format.md).
// Engine-internal: it hands out simdjson's DOM types.
#ifndef LOGTALLY_ENGINE_JSON_TEXT_H_
#define LOGTALLY_ENGINE_JSON_TEXT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "simdjson.h"

namespace logtally::engine {

// Appends `s` as a JSON value (a string, or {"hex": ...}).
void AppendJsonValue(std::string& out, std::string_view s);
// Reads back what AppendJsonValue wrote; `what` names the field in errors.
absl::StatusOr<std::string> JsonString(simdjson::dom::element e, std::string_view what);
// The string field `name` of object `obj`.
absl::StatusOr<std::string> StringField(simdjson::dom::element obj, const char* name, std::string_view what);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_JSON_TEXT_H_
