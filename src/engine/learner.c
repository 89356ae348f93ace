/* learner.c: the table of learning rules that sequence experiments can train. */
#include <string.h>
#include "engram/learner.h"
#include "engram/rnn.h"
#include "engram/r2n2.h"
#include "engram/cells.h"

/* Each rule's type object lives beside its model (src/rnn/, src/r2n2/). */
static const learner_type *const learner_table[] = {
    /* entries are added as the rules are implemented */
    &learner_bptt, &learner_fa, &learner_rflo, &learner_esn,
    &learner_r2n2,
    &learner_lstm, &learner_gru,
    NULL,
};

const learner_type *learner_type_find(const char *name) {
    for (size_t i = 0; learner_table[i]; i++)
        if (strcmp(learner_table[i]->name, name) == 0) return learner_table[i];
    return NULL;
}
