/* tf_test.h - the includes every cmocka unit test of taskfarm starts with */
#ifndef TF_TEST_H
#define TF_TEST_H

/* cmocka 1.1.5 needs these four, in this order, before <cmocka.h>. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include <string.h>

#include "taskfarm.h"

#endif /* TF_TEST_H */
