#include "core/analysis/probes/prompts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "core/analysis/probes/phonebook_names.h"
#include "core/error.h"

namespace statescope {
namespace {

// Stuffed Mamba, passkey-retrieval/passkey.py.
constexpr std::string_view kPasskeyPrefix =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize "
    "it.\n\n";
constexpr std::string_view kPasskeyBlock =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n";
constexpr std::string_view kPasskeySuffix = "\nWhat is the pass key? The passkey is";

// LongMamba task_deci.py::deci_niah.
constexpr std::string_view kNeedleQuestion =
    "There is an important pass key hidden inside a lot of irrelevant text. Find it and memorize "
    "it:\n";
constexpr std::string_view kNeedleAnswer = "\nAnswer: ";

std::string needle_fact(const std::string& x) {
    return "The pass key is " + x + ". Remember it. " + x + " is the pass key. ";
}

std::string passkey_needle(const std::string& k) {
    return "The passkey is " + k + ". Remember it. " + k + " is the passkey.\n";
}

void check_args(std::string_view probe, std::int64_t length, double depth) {
    if (length < 1) throw Error(std::string(probe) + ": length must be at least 1 token");
    if (!(depth >= 0.0 && depth <= 1.0))
        throw Error(std::string(probe) + ": depth " + std::to_string(depth) + " is outside [0, 1]");
}

// int(depth * (n - 1)) as Python truncates it.
std::int64_t depth_index(double depth, std::int64_t n) {
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(depth * double(n - 1)), 0, n - 1);
}

bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
}

// The length of a closing quote or bracket at s[i] (ASCII or the UTF-8 ’ ” »), else 0.
std::size_t closer_at(std::string_view s, std::size_t i) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == ')' || c == ']') return 1;
    for (std::string_view q : {"\xE2\x80\x99", "\xE2\x80\x9D", "\xC2\xBB"})
        if (s.substr(i, q.size()) == q) return q.size();
    return 0;
}

// The longest run of whole words at the start of `sentence` whose " " + text is at most `room`
// tokens (binary search on the word count: the count grows with the words).
std::string longest_fitting_prefix(const std::string& sentence, std::int64_t room,
                                   const TextCodec& codec, std::int64_t* tokens) {
    std::vector<std::size_t> ends;  // byte offset after each word
    for (std::size_t i = 0; i <= sentence.size(); ++i)
        if (i == sentence.size() || sentence[i] == ' ') ends.push_back(i);
    std::size_t lo = 0, hi = ends.size();  // lo words fit; hi + 1 do not (unknown at first)
    *tokens = 0;
    while (lo < hi) {
        const std::size_t mid = (lo + hi + 1) / 2;
        const std::int64_t n = codec.count(" " + sentence.substr(0, ends[mid - 1]));
        if (n <= room) {
            lo = mid;
            *tokens = n;
        } else {
            hi = mid - 1;
        }
    }
    return lo == 0 ? std::string() : sentence.substr(0, ends[lo - 1]);
}

}  // namespace

std::string ProbePrompt::text(bool jrt) const {
    return jrt ? jrt_prompt(context, question) : context + question;
}

std::string jrt_prompt(std::string_view context, std::string_view question) {
    std::string s;
    s.reserve(2 * context.size() + question.size());
    s.append(context).append(context).append(question);
    return s;
}

std::string jrt_message(std::string_view message) {
    const auto cut = message.rfind("\n\n");
    if (cut != std::string_view::npos && cut > 0)
        return jrt_prompt(message.substr(0, cut + 2), message.substr(cut + 2));
    std::string twice = jrt_prompt(std::string(message) + "\n\n", {});
    twice.resize(twice.size() - 2);
    return twice;
}

ProbePrompt passkey_prompt(const TextCodec& codec, std::int64_t length, double depth,
                           ProbeRng& rng) {
    check_args("passkey", length, depth);
    char key[8];
    std::snprintf(key, sizeof key, "%05lld", static_cast<long long>(rng.uniform_int(0, 99999)));
    const std::string needle = passkey_needle(key);
    const std::int64_t fixed = codec.count(kPasskeyPrefix) + codec.count(kPasskeySuffix);
    const std::int64_t per_block = std::max<std::int64_t>(1, codec.count(kPasskeyBlock));
    std::int64_t nblocks = std::max<std::int64_t>(1, (length - fixed) / per_block);
    auto build = [&](std::int64_t n) {
        ProbePrompt p;
        p.question = std::string(kPasskeySuffix);
        p.expected = key;
        const std::int64_t at = depth_index(depth, n);
        p.context = std::string(kPasskeyPrefix);
        for (std::int64_t b = 0; b < n; ++b) {
            if (b == at) {
                p.needle_offset = p.context.size();
                p.context += needle;
            } else {
                p.context += kPasskeyBlock;
            }
        }
        p.units = n;
        p.needle_unit = at;
        return p;
    };
    // Blocks next to each other can tokenize shorter or longer than alone (merges across the
    // seams), so measure the whole prompt and correct the block count: the longest prompt found
    // that fits wins (a few rounds; each moves by the measured excess or room at once).
    ProbePrompt best;
    std::int64_t best_tokens = -1;
    bool best_fits = false;  // a single block may already be too long: then that is the prompt
    for (int round = 0; round < 4; ++round) {
        ProbePrompt p = build(nblocks);
        const std::int64_t n = codec.count(p.text(false));
        const bool fits = n <= length;
        if (best_tokens < 0 || (fits && (!best_fits || n > best_tokens))) {
            best = std::move(p);
            best_tokens = n;
            best_fits = fits;
        }
        const std::int64_t next =
            std::max<std::int64_t>(1, fits ? nblocks + (length - n) / per_block
                                           : nblocks - (n - length + per_block - 1) / per_block);
        if (next == nblocks) break;
        nblocks = next;
    }
    return best;
}

std::vector<std::string> split_sentences(std::string_view text) {
    std::string flat;
    flat.reserve(text.size());
    for (char c : text) {
        if (is_space(c)) {
            if (!flat.empty() && flat.back() != ' ') flat += ' ';
        } else {
            flat += c;
        }
    }
    while (!flat.empty() && flat.back() == ' ') flat.pop_back();
    std::vector<std::string> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i < flat.size(); ++i) {
        const char c = flat[i];
        if (c != '.' && c != '!' && c != '?') continue;
        std::size_t end = i + 1;
        while (end < flat.size()) {
            const std::size_t n = closer_at(flat, end);
            if (n == 0) break;
            end += n;
        }
        if (end < flat.size() && flat[end] == ' ') {
            out.push_back(flat.substr(start, end - start));
            start = end + 1;
            i = end;
        }
    }
    if (start < flat.size()) out.push_back(flat.substr(start));
    return out;
}

Haystack Haystack::from_text(std::string_view corpus, const TextCodec& codec,
                             std::int64_t min_tokens) {
    Haystack h;
    for (auto& s : split_sentences(corpus)) {
        const std::int64_t n = codec.count(" " + s);
        if (n < min_tokens) continue;
        h.sentences.push_back(std::move(s));
        h.tokens.push_back(n);
    }
    if (h.sentences.empty())
        throw Error("needle: the background text has no sentence of at least " +
                    std::to_string(min_tokens) + " tokens");
    return h;
}

ProbePrompt needle_prompt(const TextCodec& codec, const Haystack& haystack, std::int64_t length,
                          double depth, ProbeRng& rng) {
    check_args("needle", length, depth);
    if (haystack.sentences.empty()) throw Error("needle: the haystack is empty");
    const std::string x = std::to_string(rng.uniform_int(0, 99999));
    const std::string fact = needle_fact(x);
    const std::int64_t fact_tokens = codec.count(fact);
    const std::int64_t budget = std::max<std::int64_t>(
        1, length - codec.count(kNeedleQuestion) - fact_tokens - codec.count(kNeedleAnswer));
    const auto S = static_cast<std::int64_t>(haystack.sentences.size());
    const std::int64_t first = rng.uniform_int(0, S - 1);
    // Sentences from `first` on, cyclically, while they fit; offsets[i] = tokens before piece i.
    // Like babilong's sampler, which cuts the haystack to its exact size, the sentence that does
    // not fit is cut at a word boundary to fill what is left.
    std::vector<std::string> picked;
    std::vector<std::int64_t> offsets;
    std::int64_t used = 0;
    for (std::int64_t k = 0; used < budget; ++k) {
        const auto s = static_cast<std::size_t>((first + k) % S);
        const std::int64_t n = haystack.tokens[s];
        if (used + n <= budget) {
            picked.push_back(haystack.sentences[s]);
            offsets.push_back(used);
            used += n;
            continue;
        }
        std::int64_t part_tokens = 0;
        std::string part =
            longest_fitting_prefix(haystack.sentences[s], budget - used, codec, &part_tokens);
        if (!part.empty()) {
            picked.push_back(std::move(part));
            offsets.push_back(used);
            used += part_tokens;
        }
        break;
    }
    offsets.push_back(used);  // the end: the fact may also go after the last sentence
    const double H = double(used);
    const double lo = std::max(0.0, depth - 0.1) * H;
    const double hi = std::min(1.0, depth + 0.1) * H - double(fact_tokens);
    std::vector<std::int64_t> candidates;
    for (std::size_t i = 0; i < offsets.size(); ++i)
        if (double(offsets[i]) >= lo && double(offsets[i]) < hi)
            candidates.push_back(std::int64_t(i));
    std::int64_t at = 0;
    if (!candidates.empty()) {
        at = candidates[std::size_t(
            rng.uniform_int(0, static_cast<std::int64_t>(candidates.size()) - 1))];
    } else {
        double best = 1e300;
        for (std::size_t i = 0; i < offsets.size(); ++i) {
            const double d = std::abs(double(offsets[i]) - depth * H);
            if (d < best) {
                best = d;
                at = std::int64_t(i);
            }
        }
    }
    ProbePrompt p;
    p.question = std::string(kNeedleAnswer);
    auto assemble = [&] {
        p.context = std::string(kNeedleQuestion);
        for (std::size_t i = 0; i <= picked.size(); ++i) {
            if (std::int64_t(i) == at) {
                p.needle_offset = p.context.size();
                p.context += fact;
            }
            if (i < picked.size()) p.context += picked[i] + " ";
        }
    };
    assemble();
    // The pieces were counted alone; merges at the seams can leave the whole a token or two
    // over. Take words off the last piece (never the needle's) until it fits.
    for (std::int64_t over = codec.count(p.text(false)) - length;
         over > 0 && !picked.empty() && at < static_cast<std::int64_t>(picked.size());
         over = codec.count(p.text(false)) - length) {
        std::string& last = picked.back();
        const auto space = last.rfind(' ');
        if (space == std::string::npos)
            picked.pop_back();
        else
            last.resize(space);
        assemble();
    }
    p.question = std::string(kNeedleAnswer);
    p.expected = x;
    p.units = static_cast<std::int64_t>(picked.size());
    p.needle_unit = at;
    return p;
}

ProbePrompt phonebook_prompt(const TextCodec& codec, std::int64_t length, double depth,
                             ProbeRng& rng) {
    check_args("phonebook", length, depth);
    const auto first = first_names(), last = last_names();
    // Names are distinct: at most 3/4 of the 4096 pairs (a draw then repeats at most 4 times on
    // average), about 35k GPT-NeoX tokens of book; longer lengths stop there.
    const std::size_t max_entries = first.size() * last.size() * 3 / 4;
    std::vector<std::string> names, phones;
    std::set<std::string> seen;
    std::int64_t used = 0, longest = 0;
    while (names.size() < max_entries) {
        std::string name;
        do {
            name =
                std::string(
                    first[std::size_t(rng.uniform_int(0, std::int64_t(first.size()) - 1))]) +
                " " +
                std::string(last[std::size_t(rng.uniform_int(0, std::int64_t(last.size()) - 1))]);
        } while (seen.count(name));
        std::string phone = std::to_string(rng.uniform_int(6, 9));
        for (int d = 0; d < 9; ++d) phone += char('0' + rng.uniform_int(0, 9));
        const std::int64_t n = codec.count(name + ": " + phone + "\n");
        longest = std::max(longest, n);
        // The question repeats two entries and a name: room for three of the longest entries.
        if (names.size() >= 3 && used + n + 3 * longest > length) break;
        seen.insert(name);
        names.push_back(std::move(name));
        phones.push_back(std::move(phone));
        used += n;
    }
    const auto N = static_cast<std::int64_t>(names.size());
    const std::int64_t q = depth_index(depth, N);
    std::int64_t a = rng.uniform_int(0, N - 2);
    if (a >= q) ++a;
    std::int64_t b;
    do b = rng.uniform_int(0, N - 1);
    while (b == q || b == a);
    auto entry = [&](std::int64_t i) {
        return names[std::size_t(i)] + ": " + phones[std::size_t(i)];
    };
    ProbePrompt p;
    for (std::int64_t i = 0; i < N; ++i) {
        if (i == q) p.needle_offset = p.context.size();
        p.context += entry(i);
        if (i + 1 < N) p.context += "\n";
    }
    p.question = "\n\n" + entry(a) + "\n" + entry(b) + "\n\n" + names[std::size_t(q)] + ":";
    p.expected = phones[std::size_t(q)];
    p.units = N;
    p.needle_unit = q;
    return p;
}

}  // namespace statescope
