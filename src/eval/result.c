/* Freeing results (include/airlock/result.h). */
#include "airlock/result.h"
#include "airlock/util.h"

const char *al_verdict_name(al_verdict v) {
  return v == AL_PASS ? "pass" : v == AL_FAIL ? "fail" : "error";
}

void al_case_result_cleanup(al_case_result *r) {
  if (!r) return;
  al_free(r->name);
  al_free(r->category);
  al_free(r->severity);
  al_free(r->tags_json);
  al_free(r->meta_json);
  al_free(r->error_kind);
  al_free(r->error_msg);
  al_free(r->request_json);
  al_free(r->output);
  al_free(r->tool_calls_json);
  al_free(r->finish_reason);
  al_free(r->model);
  for (int i = 0; i < r->n_attempts; i++) {
    al_free(r->attempts[i].error_kind);
    al_free(r->attempts[i].error_msg);
  }
  al_free(r->attempts);
  for (int i = 0; i < r->n_asserts; i++) {
    al_free(r->asserts[i].type);
    al_free(r->asserts[i].label);
    al_free(r->asserts[i].message);
  }
  al_free(r->asserts);
  for (size_t i = 0; i < r->n_tokens; i++) {
    al_free(r->tokens[i].text);
    for (int k = 0; k < r->tokens[i].n_top; k++) al_free(r->tokens[i].top[k].text);
    al_free(r->tokens[i].top);
  }
  al_free(r->tokens);
}
