// Option parsing: "--name value" and "--name=value", sizes with K/M/G/T
// suffixes (powers of 1024), strict unsigned integers.
#include "datasets/gen/options.h"

#include <charconv>
#include <limits>

#include "datasets/gen/world.h"

namespace logtally::datasets {
namespace {

constexpr std::string_view kUsage =
    "Usage: logtally-gen [OPTIONS]\n"
    "Write a synthetic netfilter firewall log (a home/office gateway's weekend).\n"
    "\n"
    "  --lines N        write exactly N lines (default 100000)\n"
    "  --size BYTES     write whole lines up to BYTES; suffix K, M, G or T\n"
    "                   (powers of 1024), e.g. --size 1G\n"
    "  --seed S         random seed (default 1); same options, same bytes\n"
    "  --dst-count N    distinct outbound destinations (default 5000, 32..10000000)\n"
    "  --src-count N    inside hosts (default 200, 1..60000)\n"
    "  --format F       text (syslog, default), journald (journalctl -o json)\n"
    "                   or ulogd (ulogd2 JSON plugin; packets only)\n"
    "  --threads N      worker threads (default: all cores); output does not\n"
    "                   depend on it\n"
    "  -o, --output F   write to file F instead of standard output\n"
    "  -h, --help       show this help\n";

bool ParseU64(std::string_view text, uint64_t& value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseSize(std::string_view text, uint64_t& value) {
  int shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: break;
    }
  }
  if (shift) text.remove_suffix(1);
  if (!ParseU64(text, value)) return false;
  if (value > (std::numeric_limits<uint64_t>::max() >> shift)) return false;
  value <<= shift;
  return true;
}

}  // namespace

std::string_view UsageText() { return kUsage; }

bool ParseOptions(int argc, char** argv, Options& options, std::string& error) {
  bool have_lines = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return true;
    }
    std::string_view name = arg, value;
    bool inline_value = false;
    if (arg.substr(0, 2) == "--") {
      const size_t eq = arg.find('=');
      if (eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inline_value = true;
      }
    }
    auto take_value = [&]() -> bool {
      if (inline_value) return true;
      if (i + 1 >= argc) {
        error = "option " + std::string(name) + " needs a value";
        return false;
      }
      value = argv[++i];
      return true;
    };
    auto bad_value = [&](std::string_view what) {
      error = "invalid value for " + std::string(name) + ": '" + std::string(value) + "' (" +
              std::string(what) + ")";
      return false;
    };
    uint64_t n = 0;
    if (name == "--lines") {
      if (!take_value()) return false;
      if (!ParseU64(value, n)) return bad_value("expected a whole number");
      options.lines = n;
      options.by_size = false;
      have_lines = true;
    } else if (name == "--size") {
      if (!take_value()) return false;
      if (!ParseSize(value, n)) return bad_value("expected a byte count like 500M or 2G");
      options.size_bytes = n;
      options.by_size = true;
    } else if (name == "--seed") {
      if (!take_value()) return false;
      if (!ParseU64(value, n)) return bad_value("expected a whole number");
      options.seed = n;
    } else if (name == "--dst-count") {
      if (!take_value()) return false;
      if (!ParseU64(value, n) || n < World::kMinDestinations || n > World::kMaxDestinations) {
        return bad_value("expected 32..10000000");
      }
      options.dst_count = static_cast<uint32_t>(n);
    } else if (name == "--src-count") {
      if (!take_value()) return false;
      if (!ParseU64(value, n) || n < 1 || n > World::kMaxSources) return bad_value("expected 1..60000");
      options.src_count = static_cast<uint32_t>(n);
    } else if (name == "--format") {
      if (!take_value()) return false;
      if (value == "text") {
        options.format = OutputFormat::kText;
      } else if (value == "journald") {
        options.format = OutputFormat::kJournald;
      } else if (value == "ulogd") {
        options.format = OutputFormat::kUlogd;
      } else {
        return bad_value("expected text, journald or ulogd");
      }
    } else if (name == "--threads") {
      if (!take_value()) return false;
      // 1024 threads is far beyond any useful count; it bounds the slot ring.
      if (!ParseU64(value, n) || n < 1 || n > 1024) return bad_value("expected 1..1024");
      options.threads = static_cast<unsigned>(n);
    } else if (name == "-o" || name == "--output") {
      if (!take_value()) return false;
      if (value.empty()) return bad_value("expected a file name");
      options.output = std::string(value);
    } else {
      error = "unknown option '" + std::string(arg) + "'";
      return false;
    }
  }
  if (have_lines && options.by_size) {
    error = "--lines and --size cannot be used together";
    return false;
  }
  return true;
}

}  // namespace logtally::datasets
