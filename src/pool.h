/* pool.h - what the taskfarm command needs of a pool beyond the public API */
#ifndef TF_POOL_H
#define TF_POOL_H

#include "session.h"
#include "taskfarm.h"

/* The session under POOL, for the command's line-reading jobs. */
struct tf__session *tf__pool_session(struct tf_pool *pool);

/* Ends POOL at once after a failure (workers are not waited for). */
void tf__pool_abort(struct tf_pool *pool);

#endif /* TF_POOL_H */
