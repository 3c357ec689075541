// admin_queue_view.h - how queue entries look in correoctl output (list rows, show, JSON).
//
// Every function formats one entry into one or more lines without newlines, so a listing
// streams entry by entry. All spool text is escaped (admin_text.h / admin_json.h).
#pragma once

#include <string>
#include <vector>

#include "relay/admin/admin_backend.h"

namespace correo {

// The `queue list` table: a header, then one row per message. Fixed column widths, since a
// streamed listing cannot measure the queue first.
std::string queue_table_header();
std::string queue_table_row(const QueueEntry& e);

// queue_entry_json - one object on one line; `full` adds what `queue show` prints (client,
// HELO, body type, DSN parameters, per-recipient ORCPT and NOTIFY).
std::string queue_entry_json(const QueueEntry& e, bool full);

// queue_show_lines - `key: value` lines, recipients as indented blocks.
std::vector<std::string> queue_show_lines(const QueueEntry& e);

}  // namespace correo
