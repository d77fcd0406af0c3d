#include "analysis/family.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <tuple>

namespace memprobe::analysis {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<FamilyDescriptor>> families;  // stable addresses for the returned pointers
};

Registry& registry() {
  static Registry* r = [] {
    auto* created = new Registry;  // never destroyed: pointers into it outlive static destruction
    for (FamilyDescriptor& f : builtin_families())
      created->families.push_back(std::make_unique<FamilyDescriptor>(std::move(f)));
    return created;
  }();
  return *r;
}

std::vector<const FamilyDescriptor*> sorted_by(int FamilyDescriptor::*rank) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<const FamilyDescriptor*> out;
  for (const auto& f : r.families) out.push_back(f.get());
  std::stable_sort(out.begin(), out.end(), [rank](const FamilyDescriptor* a, const FamilyDescriptor* b) {
    return std::tie(a->*rank, a->name) < std::tie(b->*rank, b->name);
  });
  return out;
}

}  // namespace

void register_family(FamilyDescriptor family) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (auto& f : r.families)
    if (f->name == family.name) {
      *f = std::move(family);
      return;
    }
  r.families.push_back(std::make_unique<FamilyDescriptor>(std::move(family)));
}

bool unregister_family(std::string_view name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const auto it = std::find_if(r.families.begin(), r.families.end(), [&](const auto& f) { return f->name == name; });
  if (it == r.families.end()) return false;
  r.families.erase(it);
  return true;
}

std::vector<const FamilyDescriptor*> families_in_report_order() { return sorted_by(&FamilyDescriptor::report_rank); }

std::vector<const FamilyDescriptor*> families_in_run_order() { return sorted_by(&FamilyDescriptor::run_rank); }

const FamilyDescriptor* find_family(std::string_view name) {
  for (const FamilyDescriptor* f : families_in_run_order())
    if (f->name == name) return f;
  return nullptr;
}

const FamilyDescriptor* family_of_table(std::string_view key, const DerivedTable** table, bool legacy) {
  for (const FamilyDescriptor* f : families_in_run_order())
    for (const DerivedTable& t : f->tables)
      if (t.key == key || (legacy && !t.legacy_key.empty() && t.legacy_key == key)) {
        if (table) *table = &t;
        return f;
      }
  return nullptr;
}

std::string headline_metric(const Case& c) {
  if (const FamilyDescriptor* f = find_family(c.family))
    for (const std::string& preferred : f->headline_metrics)
      if (c.metrics.count(preferred)) return preferred;
  for (const char* preferred : {"ns_per_load", "us_per_fault", "us_per_page", "gb_per_s"})
    if (c.metrics.count(preferred)) return preferred;
  return c.metrics.empty() ? std::string() : c.metrics.begin()->first;
}

}  // namespace memprobe::analysis
