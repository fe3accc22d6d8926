/* The meta-schemas of draft 7 and draft 2020-12 (with its seven vocabulary meta-schemas),
 * written for Airlock as data so that `$ref` / `$schema` to their URIs resolve offline and
 * `$vocabulary` can be read. Their content is what the two specifications define for each
 * keyword's value; informative parts (titles, descriptions, `$comment`s) are left out.
 *
 * To keep the text readable in C, the documents use ' where JSON has "; no value inside
 * contains an apostrophe. sch_builtin_load() swaps them back and parses. */
#include <string.h>

#include "airlock/util.h"
#include "schema/schema_int.h"

#define D7 "http://json-schema.org/draft-07/schema"
#define M "https://json-schema.org/draft/2020-12/"

static const char draft7[] =
    "{'$schema': '" D7 "#', '$id': '" D7 "#',"
    " 'definitions': {"
    "  'schemaArray': {'type': 'array', 'minItems': 1, 'items': {'$ref': '#'}},"
    "  'nonNegativeInteger': {'type': 'integer', 'minimum': 0},"
    "  'nonNegativeIntegerDefault0': {'allOf': [{'$ref': '#/definitions/nonNegativeInteger'},"
    "                                           {'default': 0}]},"
    "  'simpleTypes': {'enum': ['array', 'boolean', 'integer', 'null', 'number', 'object',"
    "                           'string']},"
    "  'stringArray': {'type': 'array', 'items': {'type': 'string'}, 'uniqueItems': true,"
    "                  'default': []}},"
    " 'type': ['object', 'boolean'],"
    " 'properties': {"
    "  '$id': {'type': 'string', 'format': 'uri-reference'},"
    "  '$schema': {'type': 'string', 'format': 'uri'},"
    "  '$ref': {'type': 'string', 'format': 'uri-reference'},"
    "  '$comment': {'type': 'string'},"
    "  'title': {'type': 'string'}, 'description': {'type': 'string'}, 'default': true,"
    "  'readOnly': {'type': 'boolean', 'default': false},"
    "  'writeOnly': {'type': 'boolean', 'default': false},"
    "  'examples': {'type': 'array', 'items': true},"
    "  'multipleOf': {'type': 'number', 'exclusiveMinimum': 0},"
    "  'maximum': {'type': 'number'}, 'exclusiveMaximum': {'type': 'number'},"
    "  'minimum': {'type': 'number'}, 'exclusiveMinimum': {'type': 'number'},"
    "  'maxLength': {'$ref': '#/definitions/nonNegativeInteger'},"
    "  'minLength': {'$ref': '#/definitions/nonNegativeIntegerDefault0'},"
    "  'pattern': {'type': 'string', 'format': 'regex'},"
    "  'additionalItems': {'$ref': '#'},"
    "  'items': {'anyOf': [{'$ref': '#'}, {'$ref': '#/definitions/schemaArray'}],"
    "            'default': true},"
    "  'maxItems': {'$ref': '#/definitions/nonNegativeInteger'},"
    "  'minItems': {'$ref': '#/definitions/nonNegativeIntegerDefault0'},"
    "  'uniqueItems': {'type': 'boolean', 'default': false},"
    "  'contains': {'$ref': '#'},"
    "  'maxProperties': {'$ref': '#/definitions/nonNegativeInteger'},"
    "  'minProperties': {'$ref': '#/definitions/nonNegativeIntegerDefault0'},"
    "  'required': {'$ref': '#/definitions/stringArray'},"
    "  'additionalProperties': {'$ref': '#'},"
    "  'definitions': {'type': 'object', 'additionalProperties': {'$ref': '#'}, 'default': {}},"
    "  'properties': {'type': 'object', 'additionalProperties': {'$ref': '#'}, 'default': {}},"
    "  'patternProperties': {'type': 'object', 'additionalProperties': {'$ref': '#'},"
    "                        'propertyNames': {'format': 'regex'}, 'default': {}},"
    "  'dependencies': {'type': 'object', 'additionalProperties': {"
    "     'anyOf': [{'$ref': '#'}, {'$ref': '#/definitions/stringArray'}]}},"
    "  'propertyNames': {'$ref': '#'},"
    "  'const': true,"
    "  'enum': {'type': 'array', 'items': true},"
    "  'type': {'anyOf': [{'$ref': '#/definitions/simpleTypes'},"
    "                     {'type': 'array', 'items': {'$ref': '#/definitions/simpleTypes'},"
    "                      'minItems': 1, 'uniqueItems': true}]},"
    "  'format': {'type': 'string'},"
    "  'contentMediaType': {'type': 'string'}, 'contentEncoding': {'type': 'string'},"
    "  'if': {'$ref': '#'}, 'then': {'$ref': '#'}, 'else': {'$ref': '#'},"
    "  'allOf': {'$ref': '#/definitions/schemaArray'},"
    "  'anyOf': {'$ref': '#/definitions/schemaArray'},"
    "  'oneOf': {'$ref': '#/definitions/schemaArray'},"
    "  'not': {'$ref': '#'}},"
    " 'default': true}";

#define HEAD(id, voc)                                                                              \
  "{'$schema': '" M "schema', '$id': '" M id "', '$vocabulary': {'" M "vocab/" voc                 \
  "': true}, '$dynamicAnchor': 'meta', 'type': ['object', 'boolean'],"

static const char m2020[] =
    "{'$schema': '" M "schema', '$id': '" M "schema',"
    " '$vocabulary': {'" M "vocab/core': true, '" M "vocab/applicator': true,"
    "   '" M "vocab/unevaluated': true, '" M "vocab/validation': true,"
    "   '" M "vocab/meta-data': true, '" M "vocab/format-annotation': true,"
    "   '" M "vocab/content': true},"
    " '$dynamicAnchor': 'meta',"
    " 'allOf': [{'$ref': 'meta/core'}, {'$ref': 'meta/applicator'},"
    "           {'$ref': 'meta/unevaluated'}, {'$ref': 'meta/validation'},"
    "           {'$ref': 'meta/meta-data'}, {'$ref': 'meta/format-annotation'},"
    "           {'$ref': 'meta/content'}],"
    " 'type': ['object', 'boolean'],"
    " 'properties': {"
    "  'definitions': {'type': 'object', 'additionalProperties': {'$dynamicRef': '#meta'},"
    "                  'deprecated': true, 'default': {}},"
    "  'dependencies': {'type': 'object', 'additionalProperties': {'anyOf': ["
    "      {'$dynamicRef': '#meta'}, {'$ref': 'meta/validation#/$defs/stringArray'}]},"
    "     'deprecated': true, 'default': {}}}}";

static const char m_core[] = HEAD(
    "meta/core",
    "core") " 'properties': {"
            "  '$id': {'$ref': '#/$defs/uriReferenceString', 'pattern': '^[^#]*#?$'},"
            "  '$schema': {'$ref': '#/$defs/uriString'},"
            "  '$ref': {'$ref': '#/$defs/uriReferenceString'},"
            "  '$anchor': {'$ref': '#/$defs/anchorString'},"
            "  '$dynamicRef': {'$ref': '#/$defs/uriReferenceString'},"
            "  '$dynamicAnchor': {'$ref': '#/$defs/anchorString'},"
            "  '$vocabulary': {'type': 'object', 'propertyNames': {'$ref': '#/$defs/uriString'},"
            "                  'additionalProperties': {'type': 'boolean'}},"
            "  '$comment': {'type': 'string'},"
            "  '$defs': {'type': 'object', 'additionalProperties': {'$dynamicRef': '#meta'}}},"
            " '$defs': {"
            "  'anchorString': {'type': 'string', 'pattern': '^[A-Za-z_][-A-Za-z0-9._]*$'},"
            "  'uriString': {'type': 'string', 'format': 'uri'},"
            "  'uriReferenceString': {'type': 'string', 'format': 'uri-reference'}}}";

static const char m_applicator[] = HEAD(
    "meta/applicator",
    "applicator") " 'properties': {"
                  "  'prefixItems': {'$ref': '#/$defs/schemaArray'},"
                  "  'items': {'$dynamicRef': '#meta'}, 'contains': {'$dynamicRef': '#meta'},"
                  "  'additionalProperties': {'$dynamicRef': '#meta'},"
                  "  'properties': {'type': 'object', 'additionalProperties': {'$dynamicRef': "
                  "'#meta'},"
                  "                 'default': {}},"
                  "  'patternProperties': {'type': 'object', 'additionalProperties': "
                  "{'$dynamicRef': '#meta'},"
                  "                        'propertyNames': {'format': 'regex'}, 'default': {}},"
                  "  'dependentSchemas': {'type': 'object', 'additionalProperties': "
                  "{'$dynamicRef': '#meta'},"
                  "                       'default': {}},"
                  "  'propertyNames': {'$dynamicRef': '#meta'},"
                  "  'if': {'$dynamicRef': '#meta'}, 'then': {'$dynamicRef': '#meta'},"
                  "  'else': {'$dynamicRef': '#meta'},"
                  "  'allOf': {'$ref': '#/$defs/schemaArray'}, 'anyOf': {'$ref': "
                  "'#/$defs/schemaArray'},"
                  "  'oneOf': {'$ref': '#/$defs/schemaArray'}, 'not': {'$dynamicRef': '#meta'}},"
                  " '$defs': {'schemaArray': {'type': 'array', 'minItems': 1,"
                  "                           'items': {'$dynamicRef': '#meta'}}}}";

static const char m_unevaluated[] =
    HEAD("meta/unevaluated",
         "unevaluated") " 'properties': {'unevaluatedItems': {'$dynamicRef': '#meta'},"
                        "                'unevaluatedProperties': {'$dynamicRef': '#meta'}}}";

static const char m_validation[] = HEAD(
    "meta/validation",
    "validation") " 'properties': {"
                  "  'type': {'anyOf': [{'$ref': '#/$defs/simpleTypes'},"
                  "                     {'type': 'array', 'items': {'$ref': '#/$defs/simpleTypes'},"
                  "                      'minItems': 1, 'uniqueItems': true}]},"
                  "  'const': true, 'enum': {'type': 'array', 'items': true},"
                  "  'multipleOf': {'type': 'number', 'exclusiveMinimum': 0},"
                  "  'maximum': {'type': 'number'}, 'exclusiveMaximum': {'type': 'number'},"
                  "  'minimum': {'type': 'number'}, 'exclusiveMinimum': {'type': 'number'},"
                  "  'maxLength': {'$ref': '#/$defs/nonNegativeInteger'},"
                  "  'minLength': {'$ref': '#/$defs/nonNegativeIntegerDefault0'},"
                  "  'pattern': {'type': 'string', 'format': 'regex'},"
                  "  'maxItems': {'$ref': '#/$defs/nonNegativeInteger'},"
                  "  'minItems': {'$ref': '#/$defs/nonNegativeIntegerDefault0'},"
                  "  'uniqueItems': {'type': 'boolean', 'default': false},"
                  "  'maxContains': {'$ref': '#/$defs/nonNegativeInteger'},"
                  "  'minContains': {'$ref': '#/$defs/nonNegativeInteger', 'default': 1},"
                  "  'maxProperties': {'$ref': '#/$defs/nonNegativeInteger'},"
                  "  'minProperties': {'$ref': '#/$defs/nonNegativeIntegerDefault0'},"
                  "  'required': {'$ref': '#/$defs/stringArray'},"
                  "  'dependentRequired': {'type': 'object',"
                  "                        'additionalProperties': {'$ref': "
                  "'#/$defs/stringArray'}}},"
                  " '$defs': {"
                  "  'nonNegativeInteger': {'type': 'integer', 'minimum': 0},"
                  "  'nonNegativeIntegerDefault0': {'$ref': '#/$defs/nonNegativeInteger', "
                  "'default': 0},"
                  "  'simpleTypes': {'enum': ['array', 'boolean', 'integer', 'null', 'number', "
                  "'object',"
                  "                           'string']},"
                  "  'stringArray': {'type': 'array', 'items': {'type': 'string'}, 'uniqueItems': "
                  "true,"
                  "                  'default': []}}}";

static const char m_metadata[] = HEAD(
    "meta/meta-data",
    "meta-data") " 'properties': {'title': {'type': 'string'}, 'description': {'type': 'string'},"
                 "  'default': true, 'deprecated': {'type': 'boolean', 'default': false},"
                 "  'readOnly': {'type': 'boolean', 'default': false},"
                 "  'writeOnly': {'type': 'boolean', 'default': false},"
                 "  'examples': {'type': 'array', 'items': true}}}";

static const char m_format[] = HEAD(
    "meta/format-annotation", "format-annotation") " 'properties': {'format': {'type': 'string'}}}";

static const char m_content[] =
    HEAD("meta/content", "content") " 'properties': {'contentEncoding': {'type': 'string'},"
                                    "  'contentMediaType': {'type': 'string'}, 'contentSchema': "
                                    "{'$dynamicRef': '#meta'}}}";

static const struct {
  const char *uri;
  const char *text;
} builtins[] = {
    {D7, draft7},
    {M "schema", m2020},
    {M "meta/core", m_core},
    {M "meta/applicator", m_applicator},
    {M "meta/unevaluated", m_unevaluated},
    {M "meta/validation", m_validation},
    {M "meta/meta-data", m_metadata},
    {M "meta/format-annotation", m_format},
    {M "meta/content", m_content},
};

json_t *sch_builtin_load(const char *uri) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
    if (strcmp(uri, builtins[i].uri) != 0) continue;
    char *t = al_strdup(builtins[i].text);
    if (!t) return NULL;
    for (char *p = t; *p; p++)
      if (*p == '\'') *p = '"';
    json_t *doc = json_loads(t, 0, NULL);
    al_free(t);
    return doc;
  }
  return NULL;
}
