// Blobs too large for a row (state snapshots, activation captures) as files named by the SHA-256 of
// their bytes, in "<db>.blobs/<first two hex digits>/<hash>". The database counts references
// (blobs.ref_count); these functions only move bytes. Files are written and removed only by the
// holder of the database write lock, so the folder and the blobs table never disagree for long.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace statescope {

class BlobFiles {
  public:
    explicit BlobFiles(const std::filesystem::path& db_path);

    const std::filesystem::path& folder() const { return folder_; }
    std::filesystem::path path_of(std::string_view hash) const;

    // Writes the bytes under `hash` unless a file of that size is already there. Atomic: a temp
    // file, fsync, rename, fsync of the folder, so a crash leaves the old state or the whole file.
    // Returns true when it created the file (the caller removes it again if its transaction fails).
    bool ensure(std::string_view hash, const std::uint8_t* data, std::size_t size) const;
    // The bytes, checked against their name; Error naming the file when missing or damaged.
    std::vector<std::uint8_t> read(std::string_view hash) const;
    void remove(std::string_view hash) const;
    // Every hash-named file, and leftover temp files of writers that died (safe to remove under the
    // write lock: no writer can be half-way through then).
    std::vector<std::string> list_hashes() const;
    std::vector<std::filesystem::path> list_temp_files() const;

  private:
    std::filesystem::path folder_;
};

}  // namespace statescope
