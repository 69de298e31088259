#include "engine/rows.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_sort.h>

#include <algorithm>

#include "engine/display.h"
#include "engine/key.h"

namespace logtally::engine {

bool KeyTieLess(std::string_view a, std::string_view b, size_t ncol) {
  if (a.data() == b.data()) return false;  // a row against itself
  constexpr size_t kInline = 16;
  std::string_view sa[kInline], sb[kInline];
  std::vector<std::string_view> ha, hb;
  std::string_view* va = sa;
  std::string_view* vb = sb;
  if (ncol > kInline) {
    ha.resize(ncol);
    hb.resize(ncol);
    va = ha.data();
    vb = hb.data();
  }
  DecodeKey(a, ncol, va);
  DecodeKey(b, ncol, vb);
  for (size_t c = 0; c < ncol; ++c) {
    bool ma = va[c].empty(), mb = vb[c].empty();
    if (ma != mb) return ma;
    if (va[c] != vb[c]) return va[c] < vb[c];
  }
  return false;
}

void RenderDisplay(std::string_view key, size_t ncol, std::vector<std::string_view>& vals,
                   std::string& line) {
  DecodeKey(key, ncol, vals.data());
  line.clear();
  for (size_t c = 0; c < ncol; ++c) {
    if (c > 0) line.push_back(' ');
    if (vals[c].empty()) line.push_back('-'); else AppendDisplay(line, vals[c]);
  }
}

bool DisplayInKey(std::string_view key, size_t ncol, std::string_view* display) {
  if (ncol != 1) return false;
  std::string_view v;
  DecodeKey(key, 1, &v);
  if (v.empty() || !DisplaysAsItself(v)) return false;
  *display = v;
  return true;
}

void TableRowsTo(const HashTable& t, size_t ncol, Arena& arena, Row* out) {
  std::vector<std::string_view> vals(ncol);
  std::string line;
  std::span<const Entry> slots = t.slots();
  // Slots are in hash order, so their keys are scattered over the arena:
  // start loading a key some slots ahead of its turn.
  constexpr size_t kAhead = 16;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (i + kAhead < slots.size() && slots[i + kAhead].key != nullptr) {
      __builtin_prefetch(slots[i + kAhead].key);
    }
    const Entry& e = slots[i];
    if (e.key == nullptr) continue;
    std::string_view display;
    if (!DisplayInKey(e.view(), ncol, &display)) {
      RenderDisplay(e.view(), ncol, vals, line);
      display = std::string_view(arena.Copy(line), line.size());
    }
    *out = Row{e.count, display, e.view()};
    SetOrderPrefix(*out);
    ++out;
  }
}

void SortRows(RowVector& rows, size_t top, size_t ncol) {
  RowLess less{ncol};
  if (top > 0 && top < rows.size()) {
    std::nth_element(rows.begin(), rows.begin() + static_cast<ptrdiff_t>(top), rows.end(), less);
    rows.resize(top);
  }
  // Two passes. The first orders by count and the 16-byte prefix alone, so
  // its n log n comparisons never leave the rows; the second orders each run
  // of rows that tie on both by the whole text (and key). Ties then cost one
  // look at each tied row's text, not one per comparison in every pass of the
  // sort (a cache miss each when the rows number millions).
  auto coarse = [](const Row& a, const Row& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.order_hi != b.order_hi) return a.order_hi < b.order_hi;
    return a.order_lo < b.order_lo;
  };
  tbb::parallel_sort(rows.begin(), rows.end(), coarse);
  auto same = [](const Row& a, const Row& b) {
    return a.count == b.count && a.order_hi == b.order_hi && a.order_lo == b.order_lo;
  };
  tbb::parallel_for(tbb::blocked_range<size_t>(0, rows.size(), size_t{1} << 14),
                    [&](const tbb::blocked_range<size_t>& r) {
                      // Each task sorts the runs that start in its range.
                      size_t i = r.begin();
                      while (i > 0 && i < rows.size() && same(rows[i - 1], rows[i])) ++i;
                      while (i < r.end()) {
                        size_t j = i + 1;
                        while (j < rows.size() && same(rows[i], rows[j])) ++j;
                        if (j - i > 1) std::sort(rows.begin() + i, rows.begin() + j, less);
                        i = j;
                      }
                    });
}

}  // namespace logtally::engine
