// How a raw value is shown: D(v), the escaped display form that every output
// format prints and that rows are sorted by (docs/choices.md, "Output").
//
// D(v) keeps printable ASCII and valid UTF-8, doubles backslashes and writes
// any other byte as \xNN, so a log's bytes can never break a terminal, a CSV
// file or a JSON document. This file does not join columns into a row's text
// (rows.h) or quote for a format (output.h).
#ifndef LOGTALLY_ENGINE_DISPLAY_H_
#define LOGTALLY_ENGINE_DISPLAY_H_

#include <string>
#include <string_view>

namespace logtally::engine {

// Appends D(v): the escaped display form of a raw value (empty stays empty).
void AppendDisplay(std::string& out, std::string_view v);
// True when AppendDisplay would append `v` unchanged.
bool DisplaysAsItself(std::string_view v);

}  // namespace logtally::engine

#endif  // LOGTALLY_ENGINE_DISPLAY_H_
