package wire

// defaultText holds the original tracker's default texts for the error
// codes that have one; other codes are sent with the code as text.
var defaultText = map[string]string{
	"dup":                 "Duplicate name/number used.",
	"after_mismatch":      "Pattern does not match the after-value?",
	"bad_params":          "Invalid parameters to command; please see documentation",
	"class_exists":        "That class already exists in that domain",
	"class_has_files":     "Class still has files, unable to delete",
	"class_not_found":     "Class not found",
	"db":                  "Database error",
	"domain_has_files":    "Domain still has files, unable to delete",
	"domain_exists":       "That domain already exists",
	"domain_not_empty":    "Domain still has classes, unable to delete",
	"domain_not_found":    "Domain not found",
	"failure":             "Operation failed",
	"host_exists":         "That host already exists",
	"host_mismatch":       "The device specified doesn't belong to the host specified",
	"host_not_empty":      "Unable to delete host; it contains devices still",
	"host_not_found":      "Host not found",
	"invalid_mindevcount": "The mindevcount must be at least 1",
	"key_exists":          "Target key name already exists; can't overwrite.",
	"no_class":            "No class provided",
	"no_devices":          "No devices found to store file",
	"no_device":           "Device not found",
	"no_domain":           "No domain provided",
	"no_host":             "No host provided",
	"no_ip":               "IP required to create host",
	"no_port":             "Port required to create host",
	"no_temp_file":        "No tempfile or file already closed",
	"none_match":          "No keys match that pattern and after-value (if any).",
	"plugin_aborted":      "Action aborted by plugin",
	"state_too_high":      "Status cannot go from dead to alive; must use down",
	"unknown_command":     "Unknown server command",
	"unknown_host":        "Host not found",
	"unknown_state":       "Invalid/unknown state",
	"unreg_domain":        "Domain name invalid/not found",
	"rebal_not_started":   "Rebalance not running",
	"no_rebal_state":      "No available rebalance status",
	"no_rebal_policy":     "No rebalance policy available",
	"nodel_default_class": "Cannot delete the default class.",
	// Codes of the mogfs commands (docs/mogfs.md §8.8); the original has
	// no such commands.
	"dir_not_empty": "Target directory is not empty",
	"key_too_long":  "Key would be longer than 8192 bytes",
}

// DefaultText returns the original's default text for code, or code itself.
func DefaultText(code string) string {
	if t, ok := defaultText[code]; ok {
		return t
	}
	return code
}
