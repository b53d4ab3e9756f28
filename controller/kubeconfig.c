/* kubeconfig.c — placeholder. */
#include "kubeconfig.h"
