package rueckkanal

import "amtstresen/app"

// ConfigFrom takes [smtp] and [portal] return_address from the program's
// configuration (app.LoadConfig has checked what it can without the
// network; NewSubmitter checks the rest).
func ConfigFrom(c *app.Config) Config {
	return Config{
		SMTP: SMTPConfig{Address: c.SMTP.Address, TLS: c.SMTP.TLS, CAFile: c.SMTP.CAFile,
			Username: c.SMTP.Username, PasswordEnv: c.SMTP.PasswordEnv, From: c.SMTP.From},
		ReturnAddress: c.Portal.ReturnAddress,
	}
}

// OfficeConfigFor is where office's signing key lives by the program's
// configuration: the [[office]] key_file, else the OS keyring.
func OfficeConfigFor(c *app.Config, office app.OfficeKey) OfficeConfig {
	return OfficeConfig{Dienststelle: office, KeyFile: c.OfficeKeyFile(office)}
}
