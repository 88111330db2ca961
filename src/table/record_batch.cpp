#include "slipway/table/reader.h"

namespace slipway::table {

// Inner vectors keep their capacity: a reader refills the same batch for every block of rows.
void RecordBatch::clear() {
  num_rows = 0;
  for (auto& column : columns) column.clear();
  for (auto& column : nulls) column.clear();
  line_numbers.clear();
  row_numbers.clear();
}

}  // namespace slipway::table
