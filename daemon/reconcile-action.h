/* Translating one planned action for the reconciler: into the Kinesis
 * request body that carries it out, and into what the journal says once it
 * is done. Knows nothing of the reconciler's state machine.
 *
 * Must stay pure: no calls, no state, no logging. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "conflict.h"
#include "plan.h"

/* The request for a on the stream name (arn: its ARN, NULL while unknown),
 * or NULL: out of memory, an action the reconciler does not send, or one
 * that needs the ARN while it is unknown. */
json_object *reconcile_action_request(const struct action *a, const char *name, const char *arn);

/* What a did, in the words an operator reads in the journal; obs is the
 * stream as observed before it (for "from -> to"). */
void reconcile_action_describe(const struct action *a, const struct stream_obs *obs, char *buf, size_t n);

/* Whether the stream's consumers must be listed (again): one declared is
 * missing, not ACTIVE, or the listing is not known or out of date. */
bool reconcile_consumers_need_listing(const struct stream_decl *decl, const struct stream_obs *obs);
/* How many of its declared consumers are CREATING. */
unsigned reconcile_consumers_settling(const struct stream_decl *decl, const struct stream_obs *obs);

/* The setting an operation serves, for an endpoint that does not know it
 * (consumer: about a consumer, not the stream), or _SETTING_MAX for one
 * no setting can do without. */
enum stream_setting reconcile_operation_setting(const char *operation, bool consumer);

/* decl without the settings in unsupported (1u << enum stream_setting):
 * decl itself when none of them is declared, else a shallow copy in
 * scratch with them cleared (not managed), valid while decl is. */
const struct stream_decl *reconcile_decl_supported(const struct stream_decl *decl, unsigned unsupported,
                                                   struct stream_decl_scratch *scratch);
