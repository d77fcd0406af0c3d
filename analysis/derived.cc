#include "analysis/derived.h"

#include "analysis/family.h"

namespace memprobe::analysis {

void derive_all(Results& results) {
  if (!results.derived.extra.is_object()) results.derived.extra = nlohmann::json::object();
  for (const FamilyDescriptor* family : families_in_run_order())
    if (family->derive) family->derive(results);
}

}  // namespace memprobe::analysis
