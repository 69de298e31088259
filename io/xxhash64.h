// XXH64, the 64-bit xxHash of Yann Collet (the algorithm of
// https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md), written
// out here because Debian's shared libzstd does not export its copy and no
// xxhash header is installed. It checksums the blocks of tally files and
// fingerprints the start and end of an input; both are documented formats
// (docs/tally-format.md), so the function must be exactly XXH64: the tests
// check it against the specification's published values.
#ifndef LOGTALLY_IO_XXHASH64_H_
#define LOGTALLY_IO_XXHASH64_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace logtally::io {

uint64_t Xxh64(const void* data, size_t n, uint64_t seed = 0);
inline uint64_t Xxh64(std::string_view s, uint64_t seed = 0) { return Xxh64(s.data(), s.size(), seed); }

// The 16 lower-case hex digits of a hash, most significant first (as
// `xxhsum -H64` prints it).
std::string HashHex(uint64_t h);

}  // namespace logtally::io

#endif  // LOGTALLY_IO_XXHASH64_H_
