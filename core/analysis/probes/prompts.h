// Prompt builders of the recall probes (docs/ANALYSES.md §5.1-5.3), each as close to the code it
// follows as a token-length grid allows. Every prompt is a context (what JRT "read twice"
// repeats) and a question; lengths are tokens of the codec, and the builders aim at the length
// from below (the prompt's actual count is what the runner records). All randomness comes from
// the ProbeRng handed in, so a seed pins the prompt (tests/analysis/probe_prompts_test.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/analysis/probes/probe_rng.h"
#include "core/analysis/probes/text_codec.h"

namespace statescope {

struct ProbePrompt {
    std::string context;            // instructions + haystack with the needle (JRT repeats this)
    std::string question;           // what follows the context
    std::string expected;           // the answer the scorer looks for
    std::size_t needle_offset = 0;  // byte offset of the needle (or the queried entry) in context
    std::int64_t units = 0;         // blocks, sentences or phone-book entries in the context
    std::int64_t needle_unit = 0;   // the index among them that holds the needle

    // context + question, or with JRT context + context + question (Arora et al. 2024, "Just read
    // twice": a recurrent model reads the context a second time already knowing what it holds).
    std::string text(bool jrt) const;
};

// "Just read twice" for any prompt split into context and question (a chat turn: the user's
// document and the question about it).
std::string jrt_prompt(std::string_view context, std::string_view question);

// "Just read twice" for a chat message (statescope-cli chat --jrt, the studio's Read twice): the
// message is a context and a question split at its last blank line, and jrt_prompt puts the
// context (up to and with that blank line) twice before the question. A message of one paragraph
// is all context: it is read twice, joined by a blank line.
std::string jrt_message(std::string_view message);

// Stuffed Mamba's passkey (passkey.py::PasskeyDataGenerator): prefix, nblocks filler blocks
// with block int(depth * (nblocks - 1)) replaced by the needle, suffix; the key is 5 digits
// "00000".."99999" drawn uniformly. nblocks = (length - |prefix| - |suffix|) / |block| in tokens,
// then lowered while the whole prompt is longer than `length`.
ProbePrompt passkey_prompt(const TextCodec& codec, std::int64_t length, double depth,
                           ProbeRng& rng);

// Background text for the needle probe: the corpus cut into sentences of at least 10 tokens (as
// DeciMamba's babilong_utils keeps them), with their token counts.
struct Haystack {
    std::vector<std::string> sentences;
    // tokens of " " + sentence: in the haystack a space joins it to the one before, and a
    // byte-level BPE counts that space with the first word
    std::vector<std::int64_t> tokens;
    static Haystack from_text(std::string_view corpus, const TextCodec& codec,
                              std::int64_t min_tokens = 10);
};

// Sentences: whitespace runs collapsed to one space, cut after '.', '!' or '?' (and any closing
// quotes or brackets) followed by a space.
std::vector<std::string> split_sentences(std::string_view text);

// LongMamba's needle in a haystack (task_deci.py::deci_niah): question line, haystack sentences
// from a random starting sentence (cyclic; the last one cut at a word to fill the length, as
// babilong cuts its haystack to size), the fact inserted before a sentence whose token offset
// lies in [max(0, depth-0.1) H, min(1, depth+0.1) H - |fact|) (uniform among them; the nearest one
// to depth H when none does), then "\nAnswer: ". The key is an integer 0..99999, not padded.
ProbePrompt needle_prompt(const TextCodec& codec, const Haystack& haystack, std::int64_t length,
                          double depth, ProbeRng& rng);

// "Repeat After Me" phone book (data_utils.py::PhoneBookDataset): "First Last: dddddddddd" lines
// (distinct names; the phone number is one digit 6-9 then nine digits 0-9), as many as fit in
// `length` (at most 3072 entries, about 35k GPT-NeoX tokens), then two example entries and the
// queried name. The queried entry is number int(depth * (N - 1)) of the book (the source draws it
// at random; a depth grid needs it placed); the two examples are drawn among the others.
ProbePrompt phonebook_prompt(const TextCodec& codec, std::int64_t length, double depth,
                             ProbeRng& rng);

}  // namespace statescope
