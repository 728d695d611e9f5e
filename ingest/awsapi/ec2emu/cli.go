package ec2emu

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// debianAWSCLI is where Debian's awscli package installs the CLI.
const debianAWSCLI = "/usr/bin/aws"

// ErrNoAWSCLI: no AWS CLI is installed to check the emulator with.
var ErrNoAWSCLI = errors.New("no aws CLI: install Debian's awscli package (apt-get install -y awscli)")

// AWSCLI returns the AWS CLI to run against the emulator: Debian's
// /usr/bin/aws when installed, else the first aws on PATH.
func AWSCLI() (string, error) {
	if fi, err := os.Stat(debianAWSCLI); err == nil && !fi.IsDir() {
		return debianAWSCLI, nil
	}
	p, err := exec.LookPath("aws")
	if err != nil {
		return "", ErrNoAWSCLI
	}
	return p, nil
}

// CLIEnv is an environment for running the AWS CLI against the emulator:
// dummy credentials (the CLI signs, the emulator reads the region from the
// signature), no config or credentials files from the user's home (dir is
// used as HOME), no pager, and no instance-metadata lookups.
func CLIEnv(dir, region string) []string {
	env := []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=AKIDEMULATOR",
		"AWS_SECRET_ACCESS_KEY=emulator-secret",
		"AWS_DEFAULT_REGION=" + region,
		"AWS_REGION=" + region,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CLI_AUTO_PROMPT=off",
	}
	if v := os.Getenv("LANG"); v != "" {
		env = append(env, "LANG="+v)
	}
	return env
}
