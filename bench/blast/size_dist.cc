// size_dist.cc - parsing and sampling --size (see size_dist.h).
#include "bench/blast/size_dist.h"

#include <algorithm>
#include <cmath>

#include "bench/blast/parse.h"

namespace correo::blast {

namespace {

constexpr uint64_t kMaxWeight = 1000000;

// unit_interval - [0, 1) from the top 53 bits, the precision of a double.
double unit_interval(uint64_t random) { return static_cast<double>(random >> 11) * 0x1.0p-53; }

// parse_size - a count with an optional k (KiB) or m (MiB) suffix.
Result<size_t> parse_size(std::string_view text, size_t max_size) {
  uint64_t scale = 1;
  if (!text.empty()) {
    const char last = text.back();
    if (last == 'k' || last == 'K') scale = 1024;
    else if (last == 'm' || last == 'M') scale = 1024 * 1024;
    if (scale != 1) text.remove_suffix(1);
  }
  Result<uint64_t> n = parse_count(text, 1, max_size / scale);
  if (!n) return Error{n.error().message + " (sizes are bytes, or with k or m: 2k, 1m; at most " +
                       std::to_string(max_size) + ")"};
  return static_cast<size_t>(*n * scale);
}

}  // namespace

Result<SizeDistribution> SizeDistribution::parse(std::string_view text, size_t max_size) {
  SizeDistribution d;
  if (text.find(':') != std::string_view::npos || text.find(',') != std::string_view::npos) {
    d.kind_ = Kind::kWeighted;
    while (!text.empty()) {
      const size_t comma = text.find(',');
      std::string_view item = text.substr(0, comma);
      text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
      if (comma != std::string_view::npos && text.empty()) return Error{"a trailing comma"};
      const size_t colon = item.find(':');
      if (colon == std::string_view::npos) return Error{"expected SIZE:WEIGHT, got \"" + std::string(item) + "\""};
      Result<size_t> size = parse_size(item.substr(0, colon), max_size);
      if (!size) return size.error();
      Result<uint64_t> weight = parse_count(item.substr(colon + 1), 1, kMaxWeight);
      if (!weight) return Error{"weight: " + weight.error().message};
      if (d.entries_.size() == kMaxEntries) return Error{"at most " + std::to_string(kMaxEntries) + " sizes in a mix"};
      d.entries_.push_back({*size, *weight});
      d.total_weight_ += *weight;
    }
    d.min_ = std::min_element(d.entries_.begin(), d.entries_.end(), [](auto& a, auto& b) { return a.size < b.size; })->size;
    d.max_ = std::max_element(d.entries_.begin(), d.entries_.end(), [](auto& a, auto& b) { return a.size < b.size; })->size;
    return d;
  }
  if (const size_t dash = text.find('-'); dash != std::string_view::npos) {
    Result<size_t> low = parse_size(text.substr(0, dash), max_size);
    if (!low) return low.error();
    Result<size_t> high = parse_size(text.substr(dash + 1), max_size);
    if (!high) return high.error();
    if (*low > *high) return Error{"MIN-MAX: MIN is larger than MAX"};
    d.kind_ = *low == *high ? Kind::kFixed : Kind::kLogUniform;
    d.min_ = *low;
    d.max_ = *high;
    return d;
  }
  Result<size_t> size = parse_size(text, max_size);
  if (!size) return size.error();
  return SizeDistribution(*size);
}

size_t SizeDistribution::sample(uint64_t random) const {
  switch (kind_) {
    case Kind::kFixed:
      return min_;
    case Kind::kLogUniform: {
      const double low = std::log(static_cast<double>(min_));
      const double high = std::log(static_cast<double>(max_ + 1));  // max itself can be drawn
      const auto size = static_cast<size_t>(std::exp(low + unit_interval(random) * (high - low)));
      return std::clamp(size, min_, max_);
    }
    case Kind::kWeighted: {
      auto pick = static_cast<uint64_t>(unit_interval(random) * static_cast<double>(total_weight_));
      for (const Entry& e : entries_) {
        if (pick < e.weight) return e.size;
        pick -= e.weight;
      }
      return entries_.back().size;
    }
  }
  return min_;
}

double SizeDistribution::mean() const {
  switch (kind_) {
    case Kind::kFixed:
      return static_cast<double>(min_);
    case Kind::kLogUniform: {
      // E[X] for log-uniform on [a, b]: (b - a) / ln(b / a).
      const double a = static_cast<double>(min_);
      const double b = static_cast<double>(max_ + 1);
      return (b - a) / std::log(b / a);
    }
    case Kind::kWeighted: {
      double sum = 0;
      for (const Entry& e : entries_) sum += static_cast<double>(e.size) * static_cast<double>(e.weight);
      return sum / static_cast<double>(total_weight_);
    }
  }
  return static_cast<double>(min_);
}

std::string SizeDistribution::describe() const {
  switch (kind_) {
    case Kind::kFixed:
      return std::to_string(min_) + " bytes";
    case Kind::kLogUniform:
      return std::to_string(min_) + "-" + std::to_string(max_) + " bytes log-uniform";
    case Kind::kWeighted: {
      std::string out;
      for (const Entry& e : entries_) {
        if (!out.empty()) out += ',';
        out += std::to_string(e.size) + ":" + std::to_string(e.weight);
      }
      return out + " bytes:weight";
    }
  }
  return {};
}

}  // namespace correo::blast
