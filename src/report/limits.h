/* Hard limits of the reports (src/report). */
#ifndef AL_REPORT_LIMITS_H
#define AL_REPORT_LIMITS_H

#define AL_REPORT_MAX_BYTES (512u << 20) /* one rendered report */
#define AL_REPORT_CHUNK (256u << 10)     /* streamed reports: written out past this */
#define AL_REPORT_AHEAD_MIN 1000         /* case indexes a run spans before its json report renders a part ahead */
#define AL_REPORT_EXCERPT 240            /* bytes of model output quoted as evidence */
#define AL_REPORT_MAX_LISTED 200         /* failures/errors listed in text and markdown */
#define AL_REPORT_NAME_WIDTH 40          /* widest category/severity/probe-family column in text */

#endif
